/** The image and array readers, one file per format, and their registry (registry.ts). */
export * from './common';
export * from './arrays';
export * from './png';
export * from './npy';
export * from './jpeg';
export * from './tiff';
export * from './nifti';
export * from './dicom';
export * from './registry';
