// Reads objectGuess and probeGuess from a base dataset (the fly64 workflow: simulate from a real object and
// probe). Errors are sentences naming the file and the key.
import { withNpz, type NdArray, type NpzArchive } from '../npy';
import type { ComplexImage } from './synthetic';

async function readComplexImage(archive: NpzArchive, file: string, key: string): Promise<ComplexImage> {
  if (!archive.has(key)) {
    const held = [...archive.members.keys()];
    throw new Error(`Base dataset ${file} has no ${key} array (it holds: ${held.length ? held.join(', ') : 'nothing'}).`);
  }
  const header = archive.member(key).header;
  if (header.dtype.name !== 'c8' && header.dtype.name !== 'c16') {
    throw new Error(`${key} in base dataset ${file} must be complex (complex64 or complex128), but it is ${header.dtype.descr}.`);
  }
  if (header.shape.length !== 2) {
    throw new Error(`${key} in base dataset ${file} must be a 2-D array, but its shape is (${header.shape.join(', ')}).`);
  }
  const arr: NdArray = await archive.readArray(key);
  const [height, width] = arr.shape;
  const src = arr.data as Float32Array | Float64Array;
  const data = new Float32Array(2 * height * width);
  for (let i = 0; i < data.length; i++) {
    const v = src[i];
    if (!Number.isFinite(v)) {
      const p = Math.floor(i / 2);
      throw new Error(`${key} in base dataset ${file} holds a non-finite value at row ${Math.floor(p / width)}, column ${p % width}.`);
    }
    data[i] = v;
  }
  return { height, width, data };
}

/** objectGuess and probeGuess of `file`, as complex64 images. */
export async function loadBaseDataset(file: string): Promise<{ object: ComplexImage; probe: ComplexImage }> {
  try {
    return await withNpz(file, async (archive) => ({
      object: await readComplexImage(archive, file, 'objectGuess'),
      probe: await readComplexImage(archive, file, 'probeGuess'),
    }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new Error(`Base dataset ${file} does not exist.`);
    if (typeof e.syscall === 'string') throw new Error(`Base dataset ${file} cannot be read: ${e.message}.`);
    if (e instanceof Error && e.message.includes(file)) throw e;
    throw new Error(`Base dataset ${file} is not a readable .npz archive: ${e instanceof Error ? e.message : String(e)}.`);
  }
}
