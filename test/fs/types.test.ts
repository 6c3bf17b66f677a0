// The filesystem methods' public types, as users of the package see them.
import { describe, expectTypeOf, it } from 'vitest';
import { sandbox, Sandbox, type BindOptions, type FilesystemStep, type OverlayOptions, type TmpfsOptions } from '../../lib/index.js';

describe('filesystem types', () => {
  it('every method chains', () => {
    const sb = sandbox()
      .root()
      .bind('/a', '/b', { readonly: true, optional: true, devices: false })
      .roBind('/usr')
      .tmpfs('/tmp', { size: '64M', mode: 0o1777 })
      .proc()
      .dev()
      .mqueue()
      .overlay('/src', { lower: ['/x'] })
      .dir('/d', 0o700)
      .symlink('usr/bin', '/bin')
      .file('/f', new Uint8Array(1), 0o600)
      .readonly()
      .mask('/m');
    expectTypeOf(sb).toEqualTypeOf<Sandbox>();
    expectTypeOf(sandbox().chroot('/srv')).toEqualTypeOf<Sandbox>();
  });

  it('options', () => {
    expectTypeOf<TmpfsOptions['size']>().toEqualTypeOf<number | string | undefined>();
    expectTypeOf<OverlayOptions['lower']>().toEqualTypeOf<string[]>();
    expectTypeOf<BindOptions['readonly']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<FilesystemStep['op']>().toEqualTypeOf<
      'bind' | 'tmpfs' | 'proc' | 'dev' | 'mqueue' | 'overlay' | 'dir' | 'symlink' | 'file' | 'readonly' | 'mask' | 'root' | 'chroot' | 'files'
    >();
  });
});
