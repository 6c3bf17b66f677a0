// `nsbind doctor [--json]`: the library's doctor() report, for people or for tools.
import { parseArgs, type FlagSpec } from './args.js';
import { libraryExport } from './feature.js';
import { DOCTOR_HELP } from './help.js';
import { UsageError } from './usage.js';

interface Check {
  ok: boolean;
  reason?: string;
  fix?: string;
  [more: string]: unknown;
}

function isCheck(v: unknown): v is Check {
  return typeof v === 'object' && v !== null && typeof (v as Check).ok === 'boolean';
}

/** A detail of a check (a path, a version, id ranges) as text; '' when there is nothing. */
function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map((x) => (x && typeof x === 'object' ? Object.values(x).join(':') : String(x))).join(' ');
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}=${show(x)}`).join(' ');
  return String(v);
}

function line(label: string, c: Check): string {
  const extra = Object.entries(c)
    .filter(([k]) => !['ok', 'reason', 'fix'].includes(k))
    .map(([k, v]) => [k, show(v)])
    .filter(([, text]) => text !== '')
    .map(([k, text]) => `${k} ${text}`)
    .join(', ');
  let out = `  ${c.ok ? 'ok ' : 'NO '} ${label}${extra ? ` (${extra})` : ''}${c.reason ? `: ${c.reason}` : ''}\n`;
  if (!c.ok && c.fix) out += `        fix: ${c.fix}\n`;
  return out;
}

/** The report as lines a person reads: one per check, the fix under each refusal. */
export function formatReport(report: Record<string, unknown>): string {
  let out = '';
  if (report.kernel !== undefined) out += `kernel ${String(report.kernel)}\n`;
  if (report.container) out += `container: ${String(report.container)}\n`;
  for (const [key, value] of Object.entries(report)) {
    if (key === 'kernel' || key === 'container') continue;
    if (isCheck(value)) out += line(key, value);
    else if (value && typeof value === 'object') {
      out += `${key}:\n`;
      for (const [k, c] of Object.entries(value)) if (isCheck(c)) out += line(k, c).replace(/^ {2}/, '    ');
    } else if (value !== undefined) out += `${key}: ${String(value)}\n`;
  }
  return out;
}

export const DOCTOR_FLAGS: FlagSpec[] = [
  { names: ['--json', '-J'], arity: 0 },
  { names: ['--help', '-h'], arity: 0 },
];

export async function main(argv: readonly string[]): Promise<number> {
  const { flags, rest } = parseArgs(argv, DOCTOR_FLAGS, { command: 'doctor', takesCommand: false });
  if (flags.some((f) => f.name === '--help')) {
    process.stdout.write(DOCTOR_HELP);
    return 0;
  }
  if (rest.length > 0) throw new UsageError('doctor', `unexpected argument '${rest[0]}'`);
  const doctor = libraryExport<() => Promise<Record<string, unknown>>>('doctor');
  const report = await doctor();
  process.stdout.write(flags.some((f) => f.name === '--json') ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return 0;
}
