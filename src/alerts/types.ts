// The hand-off from the live matcher to the alert service. The matcher builds an AlertCandidate
// only after the alert policy decided; the alert service encrypts and stores it BEFORE anything
// is published (outbox), and owns its images from then on (it wipes the buffers it was given).
import type { Box } from '../vision/types.js';

export interface AlertCandidate {
  camera: string;
  /** Tracker id, unique per camera and daemon run. */
  trackId: number;
  /** Internal id of the watchlist subject (store row id), never shown on its own. */
  subjectId: string;
  /** Pseudonymous subject reference from the bundle CSV (personal data: never logged). */
  subjectRef: string;
  category: string;
  /** The bundle's reason text for the subject (CSV reason column; shown to officers; personal data). */
  reason?: string;
  /** Cosine similarity of the best observation, and the threshold in force. */
  score: number;
  threshold: number;
  /** Wall-clock ms of the frame that decided the alert. */
  capturedAt: number;
  /** Face box in the analysed frame, and that frame's size (for ONVIF-style bounding boxes). */
  faceBox: Box;
  frameWidth: number;
  frameHeight: number;
  faceJpeg: Buffer;
  contextJpeg: Buffer;
  referenceJpeg: Buffer;
}

/** Implemented by the alert service (src/alerts/); consumed by the daemon. */
export interface AlertSink {
  /** Store (encrypted) then queue for publication; resolves with the alert id once durable. */
  raise(candidate: AlertCandidate): Promise<string>;
}
