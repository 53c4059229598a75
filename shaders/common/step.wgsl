// Per-submit parameters shared by every kernel (binding 0 of each): how many token rows this step processes and
// where they sit in the sequence. Written once per step with queue.writeBuffer, never read back.
struct Step {
  rows: u32,      // T: token rows in this step (1 for decode)
  pos0: u32,      // absolute position of row 0; row t is at pos0 + t
  kv_len: u32,    // cached tokens after this step = pos0 + rows
  sparse: u32,    // 1 = DSA top-k attention, 0 = dense
}
