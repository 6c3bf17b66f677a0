// Validation of `.net({ egress, forward, expose })`: every mistake fails when the
// sandbox is built, naming the option, before anything runs.
import { invalid } from '../../errors.js';
import type { EgressOptions } from '../../options.js';
import * as v from '../../validate.js';
import { parsePattern } from './patterns.js';

export const DEFAULT_PROXY_PORT = 3128;

function port(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw invalid(option, `expected a TCP port (1-65535), not ${v.describe(value)}`);
  }
  return value;
}

function patterns(value: unknown, option: string): string[] {
  if (!Array.isArray(value)) throw invalid(option, 'expected an array of patterns');
  return value.map((p, i) => (parsePattern(p, `${option}[${i}]`), String(p)));
}

export function validateEgress(raw: unknown): EgressOptions {
  const o = v.plainObject(raw, 'net.egress');
  v.knownKeys(o, ['allow', 'deny', 'port'], 'net.egress');
  const out: EgressOptions = { allow: patterns(o.allow ?? [], 'net.egress.allow') };
  if (o.deny !== undefined) out.deny = patterns(o.deny, 'net.egress.deny');
  if (o.port !== undefined) out.port = port(o.port, 'net.egress.port');
  return out;
}

export function validatePorts<K extends string>(raw: unknown, option: string, keys: [K, K]): Record<K, number>[] {
  if (!Array.isArray(raw)) throw invalid(option, `expected an array of { ${keys[0]}, ${keys[1]} }`);
  return raw.map((e, i) => {
    const o = v.plainObject(e, `${option}[${i}]`);
    v.knownKeys(o, keys, `${option}[${i}]`);
    const out = {} as Record<K, number>;
    for (const k of keys) out[k] = port(o[k], `${option}[${i}].${k}`);
    return out;
  });
}

/** Ports that must be free inside (the proxy, exposed ports): no two the same. */
export function checkSandboxPorts(egress: EgressOptions | undefined, expose: { sandbox: number }[] | undefined): void {
  const seen = new Map<number, string>();
  if (egress) seen.set(egress.port ?? DEFAULT_PROXY_PORT, 'net.egress.port');
  (expose ?? []).forEach((e, i) => {
    const option = `net.expose[${i}].sandbox`;
    if (seen.has(e.sandbox)) throw invalid(option, `port ${e.sandbox} is already taken by ${seen.get(e.sandbox)}`);
    seen.set(e.sandbox, option);
  });
}
