// What the live matcher and the alert path need to know about an enrolled subject. The store
// (src/watchlist/) decrypts these into memory for one deployment; nothing here is logged.
export interface WatchlistSubject {
  /** Internal id (opaque, random), used to link templates and alerts. */
  id: string;
  /** Pseudonymous reference from the bundle CSV. */
  subjectRef: string;
  category: string;
  /** Why the person is on the watchlist (bundle CSV), shown to the officer after an alert. */
  reason?: string;
  /** JPEG of the reference face shown to the officer beside the captured face. */
  referenceJpeg: Buffer;
}

/** One template row of the in-memory gallery. */
export interface GalleryTemplate {
  subjectId: string;
  embedding: Float32Array;
}

export interface SearchHit {
  subjectId: string;
  score: number;
}
