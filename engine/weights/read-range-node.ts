// Reads an exact byte range of a file in Node (checkpoint shards, package shards). A file shorter than the range
// asks `short` for the error to throw, so each caller names its own problem (BAD_CHECKPOINT, INTEGRITY).
import { open } from 'node:fs/promises';

export async function readFileRange(
  path: string,
  offset: number,
  length: number,
  short: (done: number) => Error,
): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(bytes, done, length - done, offset + done);
      if (bytesRead === 0) throw short(done);
      done += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}
