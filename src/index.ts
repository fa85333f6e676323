/** vxlan-inspect's public API. Everything a user may import is re-exported here. */
export * from './errors.js';
export * from './decode/types.js';
export * from './decode/file/index.js';
export * from './lab/index.js';
