// THE sharp (libvips) of the product, with its operation cache off (issue 11.6): libvips keeps
// recent operations and their pixel buffers in a cache by default, so a face it decoded, cropped
// or encoded would outlive the call that made it. Every product module imports sharp from here.
import sharp from 'sharp';

sharp.cache(false);

export default sharp;
export type { Sharp } from 'sharp';
