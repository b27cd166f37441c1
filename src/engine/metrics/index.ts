/**
 * The metric families of METHOD.md §2–§4, one file each; pure functions on typed arrays.
 */
export * from './validate';
export * from './prng';
export * from './stats';
export * from './pooling';
export * from './sampler';
export * from './db';
export * from './pca';
export * from './knn';
export * from './confidence';
export * from './kmeans';
export * from './roughness';
export * from './performance';
export * from './gemm-onnx';
export * from './outputStats';
