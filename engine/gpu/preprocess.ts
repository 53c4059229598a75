// A tiny WGSL preprocessor, applied when a pipeline is built: `#include "name"` (shared snippets from
// shaders/common), `#ifdef NAME` / `#ifndef NAME` / `#else` / `#endif` on boolean defines, and every numeric define
// emitted once as a `const NAME: u32` at the top (or `const NAME: f32` for values wrapped with `f32(...)`), so shapes
// and scales are compile-time constants. SUBGROUPS (gpu/subgroups.ts) also puts `enable subgroups;` first.

export interface F32Define { f32: number }
export type Defines = Record<string, boolean | number | F32Define>;

/** Marks a define as an f32 constant (an integer-valued scale would otherwise become u32). */
export function f32(value: number): F32Define {
  return { f32: value };
}

export function preprocessWgsl(source: string, defines: Defines, includes: Record<string, string>): string {
  const enables = defines.SUBGROUPS === true ? 'enable subgroups;\n' : '';
  return enables + constantsFor(defines) + expand(source, defines, includes, new Set());
}

function expand(source: string, defines: Defines, includes: Record<string, string>, seen: Set<string>): string {
  const out: string[] = [];
  const active: boolean[] = [];
  const enabled = () => active.every(Boolean);
  for (const line of source.split('\n')) {
    const directive = line.trim().match(/^#(include|ifdef|ifndef|else|endif)\b\s*(.*)$/);
    if (!directive) {
      if (enabled()) out.push(line);
      continue;
    }
    const [, kind, arg] = directive;
    if (kind === 'ifdef') active.push(defines[arg.trim()] === true);
    else if (kind === 'ifndef') active.push(defines[arg.trim()] !== true);
    else if (kind === 'else') {
      if (!active.length) throw new Error('WGSL preprocessor: #else without #ifdef');
      active.push(!active.pop());
    } else if (kind === 'endif') {
      if (!active.length) throw new Error('WGSL preprocessor: #endif without #ifdef');
      active.pop();
    } else if (enabled()) {
      const name = arg.trim().replace(/^"|"$/g, '');
      const body = includes[name];
      if (body === undefined) throw new Error(`WGSL preprocessor: unknown include "${name}"`);
      if (!seen.has(name)) {
        seen.add(name);
        out.push(expand(body, defines, includes, seen));
      }
    }
  }
  if (active.length) throw new Error('WGSL preprocessor: unterminated #ifdef');
  return out.join('\n');
}

function constantsFor(defines: Defines): string {
  let out = '';
  for (const [name, value] of Object.entries(defines)) {
    if (typeof value === 'number') {
      if (!Number.isInteger(value) || value < 0) throw new Error(`WGSL preprocessor: ${name}=${value} is not a u32; wrap floats with f32()`);
      out += `const ${name}: u32 = ${value}u;\n`;
    } else if (typeof value === 'object') {
      out += `const ${name}: f32 = ${floatLiteral(value.f32)};\n`;
    }
  }
  return out;
}

function floatLiteral(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`WGSL preprocessor: non-finite constant ${value}`);
  const text = String(Math.fround(value));
  return /[.eE]/.test(text) ? text : `${text}.0`;
}
