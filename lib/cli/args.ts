// The command-line tokenizer shared by every subcommand. Why not util.parseArgs: the
// flags nsbind copies from bubblewrap take two values (`--bind SRC DEST`), unshare's take
// optional values only after `=` (`--mount-proc=/proc`), and order matters (filesystem
// steps run in the order written) -- none of which util.parseArgs models. This is
// getopt_long's grammar, with "+" semantics: flags end at `--` or at the first word
// that is not a flag, which begins the command.
import { UsageError } from './usage.js';

/** How many values a flag takes. `optional`: only as `--flag=VALUE` (as getopt does). */
export type Arity = 0 | 1 | 2 | 3 | 'optional';

export interface FlagSpec {
  /** Long and short names; the first is the canonical one (`['--user', '-U']`). */
  names: string[];
  arity: Arity;
  /** Names of the values, for errors and help (`['SRC', 'DEST']`). */
  metavar?: string[];
}

export interface ParsedFlag {
  /** The canonical name (`--user`), whichever name was written. */
  name: string;
  /** The name as written (`-U`), for error messages. */
  given: string;
  values: string[];
}

export interface Parsed {
  flags: ParsedFlag[];
  /** The command and its arguments (or the positional words, for subcommands without one). */
  rest: string[];
  /** Whether `--` was written. */
  dashdash: boolean;
}

export interface ParseOptions {
  /** The subcommand, for error messages (`'run'`). */
  command: string;
  /**
   * Words after the flags begin a command (run, exec): then a command argument that is
   * also one of our long flags is ambiguous and needs `--`.
   */
  takesCommand: boolean;
  /** Refuse a command argument that is also one of our flags (default true; bwrap's syntax has no such rule). */
  ambiguity?: boolean;
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], o: ParseOptions): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of s.names) byName.set(n, s);
  const flags: ParsedFlag[] = [];
  const positionals: string[] = [];
  const fail = (msg: string) => new UsageError(o.command, msg);

  const take = (spec: FlagSpec, given: string, i: number, inline?: string): number => {
    const meta = spec.metavar ?? ['VALUE'];
    if (spec.arity === 0) {
      if (inline !== undefined) throw fail(`${given}: takes no value`);
      flags.push({ name: spec.names[0], given, values: [] });
      return i;
    }
    if (spec.arity === 'optional') {
      flags.push({ name: spec.names[0], given, values: inline === undefined ? [] : [inline] });
      return i;
    }
    const values = inline === undefined ? [] : [inline];
    while (values.length < spec.arity) {
      // `--bind a -- cmd`: getopt would take `--` as DEST; here it ends the flags, so the
      // value is missing (and nothing runs by accident).
      if (i + 1 >= argv.length || argv[i + 1] === '--') {
        throw fail(`${given}: expects ${meta.join(' ')}${values.length ? ` (missing ${meta[values.length]})` : ''}`);
      }
      // `--root --ro-bind / /`: getopt would take `--ro-bind` as DIR. A value that is one
      // of our long flags is almost certainly a forgotten value, so say so.
      const next = argv[i + 1];
      if (next.startsWith('--') && byName.has(next.split('=')[0])) {
        throw fail(`${given}: expects ${meta.join(' ')} (got the flag ${next.split('=')[0]}${values.length ? ` as ${meta[values.length]}` : ''})`);
      }
      values.push(argv[++i]);
    }
    flags.push({ name: spec.names[0], given, values });
    return i;
  };

  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      return { flags, rest: [...positionals, ...argv.slice(i + 1)], dashdash: true };
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a : a.slice(0, eq);
      const spec = byName.get(name);
      if (!spec) throw fail(`unknown flag ${name}${didYouMean(name, [...byName.keys()])}`);
      i = take(spec, name, i, eq < 0 ? undefined : a.slice(eq + 1));
    } else if (a.startsWith('-') && a.length > 1) {
      // A cluster of short flags (`-Upf`); a flag with a value takes the rest of the
      // cluster, or the next word (`-tnet`, `-t net`).
      for (let j = 1; j < a.length; j++) {
        const name = `-${a[j]}`;
        const spec = byName.get(name);
        if (!spec) {
          // `-map-root-user`: a long flag written with one dash reads as a cluster.
          const long = a.length > 2 ? didYouMean(`-${a}`, [...byName.keys()]) : '';
          throw fail(`unknown flag ${name}${a.length > 2 ? ` (in ${a})` : ''}${long}`);
        }
        if (spec.arity === 0 || spec.arity === 'optional') {
          take(spec, name, i);
          continue;
        }
        const inline = j + 1 < a.length ? a.slice(j + 1) : undefined;
        i = take(spec, name, i, inline);
        break;
      }
    } else if (o.takesCommand) {
      const rest = argv.slice(i);
      // `nsbind run ps --pid 1`: is --pid meant for ps or for nsbind? Refuse to guess.
      const clash = o.ambiguity === false ? undefined : rest.slice(1).find((w) => w.startsWith('--') && byName.has(w.split('=')[0]));
      if (clash) {
        throw fail(`ambiguous: '${clash}' after the command '${rest[0]}' is also an nsbind flag; put -- before the command`);
      }
      return { flags, rest, dashdash: false };
    } else {
      positionals.push(a);
    }
  }
  return { flags, rest: positionals, dashdash: false };
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * `; did you mean --ro-bind?` for a mistyped long flag: the known flags closest to it
 * (a third of its length in edits at most, so unrelated words get no suggestion), or
 * the flags it is an unambiguous prefix of.
 */
export function didYouMean(given: string, known: readonly string[]): string {
  const longs = [...new Set(known.filter((k) => k.startsWith('--')))];
  const prefixed = longs.filter((k) => k.startsWith(given));
  if (given.length > 3 && prefixed.length > 0 && prefixed.length <= 3) return `; did you mean ${prefixed.join(' or ')}?`;
  const limit = Math.max(1, Math.floor((given.length - 2) / 3));
  let best = Infinity;
  let names: string[] = [];
  for (const k of longs) {
    const dist = distance(given.toLowerCase(), k);
    if (dist < best) [best, names] = [dist, [k]];
    else if (dist === best) names.push(k);
  }
  return best <= limit && names.length <= 3 ? `; did you mean ${names.join(' or ')}?` : '';
}
