// Draws the web app manifest's icons into public/icons/ (committed; rerun with `npm run pwa-icons` after a change):
// icon-192.png and icon-512.png ("any": a rounded tile in the theme colour) and icon-maskable-512.png (full bleed,
// the mark kept inside the central 80% safe zone that launchers may crop to a circle). The mark is a white speech
// bubble with three dots. Pixels are computed from signed distances with a one-pixel soft edge and written as an
// 8-bit RGBA PNG (zlib from Node, CRC-32 here), so no image library is needed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

export const THEME_COLOUR = [0x1f, 0x3a, 0x8a] as const; // #1f3a8a, the manifest's theme_color
const DOT_COLOUR = [0x4d, 0x6b, 0xfe] as const;
type Rgb = readonly [number, number, number];

/** Signed distance to a rounded rectangle centred at (cx, cy) with half sizes (hw, hh) and corner radius r. */
function roundedRect(x: number, y: number, cx: number, cy: number, hw: number, hh: number, r: number): number {
  const qx = Math.abs(x - cx) - (hw - r);
  const qy = Math.abs(y - cy) - (hh - r);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}

/** Signed distance to triangle (a, b, c), negative inside. */
function triangle(x: number, y: number, [a, b, c]: [number, number][]): number {
  const edges: [number, number][][] = [[a, b], [b, c], [c, a]];
  let d = Infinity;
  let inside = true;
  for (const [[x0, y0], [x1, y1]] of edges) {
    const ex = x1 - x0;
    const ey = y1 - y0;
    const t = Math.max(0, Math.min(1, ((x - x0) * ex + (y - y0) * ey) / (ex * ex + ey * ey)));
    d = Math.min(d, Math.hypot(x - x0 - ex * t, y - y0 - ey * t));
    if (ex * (y - y0) - ey * (x - x0) < 0) inside = false;
  }
  return inside ? -d : d;
}

/** Coverage (0..1) of a shape at signed distance `d` pixels, with a one-pixel soft edge. */
const coverage = (d: number) => Math.max(0, Math.min(1, 0.5 - d));

function drawIcon(size: number, maskable: boolean): Uint8Array {
  const rgba = new Uint8Array(size * size * 4);
  const s = size / 512; // the mark is laid out on a 512 grid
  const markScale = maskable ? 0.8 : 1; // maskable: inside the safe zone
  const c = size / 2;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const x = px + 0.5;
      const y = py + 0.5;
      // Mark coordinates on the 512 grid, shrunk about the centre for the maskable icon.
      const mx = (x - c) / (s * markScale) + 256;
      const my = (y - c) / (s * markScale) + 256;
      const tile = maskable ? 1 : coverage(roundedRect(x, y, c, c, size / 2, size / 2, size * 0.18));
      const bubble = Math.min(
        roundedRect(mx, my, 256, 236, 170, 120, 56),
        triangle(mx, my, [[170, 330], [250, 330], [150, 420]]),
      );
      const white = coverage(bubble * s * markScale);
      let dots = 0;
      for (const dx of [-80, 0, 80]) dots = Math.max(dots, coverage((Math.hypot(mx - 256 - dx, my - 236) - 26) * s * markScale));
      const mix = (channel: number) => {
        const base: Rgb = THEME_COLOUR;
        const onBubble = 255 * (1 - dots) + DOT_COLOUR[channel] * dots;
        return Math.round(base[channel] * (1 - white) + onBubble * white);
      };
      const i = (py * size + px) * 4;
      rgba[i] = mix(0);
      rgba[i + 1] = mix(1);
      rgba[i + 2] = mix(2);
      rgba[i + 3] = Math.round(255 * tile);
    }
  }
  return rgba;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/** An RGBA8 PNG of a square `size` image. */
export function encodePng(rgba: Uint8Array, size: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit, RGBA, deflate, no filter method variants, no interlace
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) raw.set(rgba.subarray(y * size * 4, (y + 1) * size * 4), y * (size * 4 + 1) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array())]);
}

const outDir = join(process.cwd(), 'public', 'icons');
mkdirSync(outDir, { recursive: true });
for (const [file, size, maskable] of [['icon-192.png', 192, false], ['icon-512.png', 512, false], ['icon-maskable-512.png', 512, true]] as const) {
  writeFileSync(join(outDir, file), encodePng(drawIcon(size, maskable), size));
  console.log(`wrote public/icons/${file}`);
}
