// The thin, typed edge of the gstreamer-superficial binding (a CommonJS native addon without
// type declarations). Loaded lazily through createRequire so that importing src/ingest costs
// nothing for CLI commands that never open a camera.
import { createRequire } from 'node:module';

/** A bus message as the binding delivers it: the GstStructure's fields plus a few extras. */
export interface GstBusMessage {
  type: string;
  /** Name of the element that posted it. */
  _src_element_name?: string;
  /** Error text for type "error" (GError message; the debug string is never exposed here). */
  message?: string;
  [field: string]: unknown;
}

/** Caps of a pulled sample, as a flat object (name, format, width, height, framerate ...). */
export interface GstCaps {
  name?: string;
  format?: string;
  width?: number;
  height?: number;
  [field: string]: unknown;
}

export interface GstElement {
  [property: string]: unknown;
}

export interface GstAppSink extends GstElement {
  /** Pulls one sample on a libuv worker thread; buf is null at EOS or when flushing. */
  pull(cb: (buf: Buffer | null, caps: GstCaps) => void): void;
}

export interface GstPipeline {
  play(): void;
  stop(): void;
  pause(): void;
  findChild(name: string): GstElement | undefined;
  /** Each call queues a libuv work item that blocks in gst_bus_timed_pop until a message. */
  pollBus(cb: (msg: GstBusMessage) => void): void;
  'auto-flush-bus': boolean;
}

export interface GstBinding {
  Pipeline: new (launch: string) => GstPipeline;
}

/** Load the native binding (throws a plain Error when the addon or GStreamer is missing). */
export function loadGstreamer(): GstBinding {
  const require = createRequire(import.meta.url);
  try {
    return require('gstreamer-superficial') as GstBinding;
  } catch (err) {
    throw new Error(`GStreamer binding (gstreamer-superficial) cannot be loaded: ${(err as Error).message}`);
  }
}
