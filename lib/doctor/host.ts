// The machine doctor() looks at. Every file is read beneath `root` ('' for the real
// machine), so that a test can present a fixture tree that refuses things this machine
// allows (a sysctl set to 0, no /etc/subuid entry...).
import { accessSync, constants, readFileSync, statSync, type Stats } from 'node:fs';

export class Host {
  constructor(readonly root: string) {}

  path(p: string): string {
    return this.root + p;
  }

  read(p: string): string | undefined {
    try {
      return readFileSync(this.path(p), 'utf8');
    } catch {
      return undefined;
    }
  }

  stat(p: string): Stats | undefined {
    try {
      return statSync(this.path(p));
    } catch {
      return undefined;
    }
  }

  exists(p: string): boolean {
    return this.stat(p) !== undefined;
  }

  writable(p: string): boolean {
    try {
      accessSync(this.path(p), constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  /** A numeric sysctl (`kernel.unprivileged_userns_clone`), or undefined when the kernel has none. */
  sysctl(name: string): number | undefined {
    const text = this.read(`/proc/sys/${name.replace(/\./g, '/')}`)?.trim();
    if (text === undefined || text === '' || !/^-?[0-9]+$/.test(text)) return undefined;
    return Number(text);
  }

  /** `ID` and `ID_LIKE` of /etc/os-release, for install commands that fit the distribution. */
  distro(): string[] {
    const text = this.read('/etc/os-release') ?? this.read('/usr/lib/os-release') ?? '';
    const ids: string[] = [];
    for (const m of text.matchAll(/^(ID|ID_LIKE)=("?)([^"\n]*)\2$/gm)) ids.push(...m[3].split(/\s+/));
    return ids;
  }
}

/** `sudo sysctl -w K=V`, and the same setting kept across reboots. */
export function sysctlFix(name: string, value: number): string {
  return `sudo sysctl -w ${name}=${value} && echo '${name}=${value}' | sudo tee /etc/sysctl.d/60-nsbind-${name.split('.').pop()}.conf`;
}
