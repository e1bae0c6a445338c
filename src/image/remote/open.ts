// Owns opening an image that lives in a registry for reading (verify --against REF, diff
// REF): it is pulled (pull.ts: every manifest and blob checked against its digest on the way
// in) into a scratch OCI layout, opened with the same reader as any layout, and the scratch
// directory goes when the image is closed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StrataError } from '../../errors.js';
import type { OpenedImage } from '../image-reader.js';
import { openLocalImage } from '../layout-reader.js';
import { pullImage, type RemoteOptions } from './index.js';

export async function openRemoteImage(reference: string, options: RemoteOptions = {}): Promise<OpenedImage> {
  const scratch = await mkdtemp(join(tmpdir(), 'strata-pull-'));
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  try {
    const pulled = await pullImage(reference, { ...options, dir: join(scratch, 'layout'), scratch: join(scratch, 'blobs') });
    const image = await openLocalImage({ path: pulled.dir });
    if (image === undefined) throw new StrataError('INTERNAL', `the pull of ${reference} wrote no layout`);
    return {
      ...image,
      label: `registry image ${pulled.reference}`,
      format: 'registry',
      close: async () => {
        await image.close();
        await cleanup();
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
