// The one configuration schema. Every field carries its default, bounds and description together
// (GUIDE practice 5): never declare a default anywhere else. `lfr config validate FILE` and
// `lfr config show` print from this schema, and docs/config.md is generated from it.
//
// Secrets are never values here: only paths to 0600 files (keys, broker password, camera
// credentials), so this file can be printed, logged and audited without leaking anything.
import { z } from 'zod';

/** Whether Intl knows this IANA zone (a typo such as Europe/Londn is refused at load). */
function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const hours = (def: number, desc: string) =>
  z.number().positive().max(24).default(def).describe(desc);

export const cameraSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lower-case letters, digits, - and _, at most 32')
      .describe('Short camera id used in alerts, logs and metrics, e.g. "north-1".'),
    location: z
      .string()
      .max(120)
      .optional()
      .describe('Where the camera looks, in words an officer can find, e.g. "High St, outside no. 12, facing north". Shown on the tablet with each alert and in the results report.'),
    url: z
      .string()
      .regex(/^(rtsp|rtsps|file):\/\//, 'must start with rtsp://, rtsps:// or file://')
      .refine((u) => !/^[a-z]+:\/\/[^/]*@/.test(u), 'put credentials in credentialsFile, not in the URL')
      .describe('Stream URL without credentials, e.g. rtsp://10.0.0.21:554/stream1.'),
    credentialsFile: z
      .string()
      .optional()
      .describe('Path to a 0600 file holding "user:password" for the camera. Never logged.'),
    codec: z.enum(['h264', 'h265']).default('h264').describe('Video codec the camera sends; picks the RTP depayloader, parser and decoder. Files are probed instead.'),
    transport: z.enum(['tcp', 'udp']).default('tcp').describe('RTSP transport. TCP survives lossy links; UDP has lower latency.'),
    latencyMs: z.number().int().min(0).max(2000).default(200).describe('rtspsrc jitter-buffer latency.'),
    decoder: z
      .enum(['auto', 'cpu', 'nvidia', 'v4l2'])
      .default('auto')
      .describe('Video decoder: cpu = avdec_h264/h265; nvidia = nvh264dec/nvh265dec; v4l2 = nvv4l2decoder (Jetson); auto picks hardware when the element exists.'),
    analysisFps: z.number().min(0.5).max(30).default(10).describe('Cap on frames analysed per second; extra decoded frames are dropped.'),
    analysisWidth: z
      .number()
      .int()
      .min(320)
      .max(3840)
      .default(1280)
      .describe('Frames are scaled in GStreamer to this width (height keeps the aspect) before analysis. 1280 keeps a 24 px inter-eye face from a 1080p frame at 16 px.'),
    enabled: z.boolean().default(true).describe('Set false to keep a camera configured but not started.'),
  })
  .strict();

export const configSchema = z
  .object({
    van: z
      .object({
        id: z.string().min(1).max(64).default('van-1').describe('Identifier of this van, used in MQTT topics and reports.'),
        timeZone: z
          .string()
          .default('Europe/London')
          .refine(validTimeZone, { message: 'not an IANA time zone this system knows (e.g. Europe/London)' })
          .describe('IANA time zone in which reports (text, HTML, CSV), `lfr status` and the tablet show times, to the second. JSON keeps UTC ISO-8601.'),
      })
      .strict()
      .prefault({}),
    paths: z
      .object({
        stateDir: z.string().default('/var/lib/lfr').describe('Persistent state: audit log, deployment records, alert store (alerts are encrypted and expire).'),
        runtimeDir: z
          .string()
          .default('/run/lfr')
          .describe('tmpfs: the watchlist store and other data that must vanish at power-off.'),
        modelsDir: z.string().default('models').describe('Folder holding manifest.json and the prepared model files; relative to the install root.'),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('Log level.'),
      })
      .strict()
      .prefault({}),
    vision: z
      .object({
        detector: z.string().default('rfb320').describe('Model id (models/manifest.json) of the face detector. Stays float: "rfb320-int8" keeps recall but ran slower than float on x86 with AVX-512 (docs/performance.md).'),
        landmarker: z.string().default('pfld68').describe('Model id of the landmark model used to refine eye/nose/mouth points; "none" uses the detector\'s own points.'),
        embedder: z
          .string()
          .default('faceplugin-feature-int8')
          .describe('Model id of the face embedder. Default: the int8 QDQ embedder with 7-bit weights (the same results on every CPU; LFW 99.42 % vs 99.40 % float, 1:N FNIR at FPIR 1e-3 10.2 % vs 9.7 %, docs/accuracy.md); "faceplugin-feature" is the float original (use it with the CUDA provider, which does not run int8 kernels; it has no shipped impostor calibration).'),
        detectorInputWidth: z
          .number()
          .int()
          .min(160)
          .max(3840)
          .default(640)
          .describe('Detector input width in pixels (height follows the frame aspect, rounded to 32). The RFB detector is fully convolutional, so priors are computed for this size; 640 on a 1280-wide analysis frame finds faces of about 20 px. Never larger than the image itself (upscaling 250 px stills to 640 cost 7 LFW points), and faces taller than 100 px of input are detected again in a pass where they are about 80 px (docs/vision.md).'),
        detectorScoreThreshold: z.number().min(0.05).max(0.99).default(0.6).describe('Minimum detector confidence for a face.'),
        nmsIou: z.number().min(0.1).max(0.9).default(0.4).describe('IoU above which overlapping detections are merged by non-maximum suppression.'),
        mirrorAugment: z.boolean().default(false).describe('Average the embedding of the face and its mirror image. Off: with the int8 embedder it bought nothing measurable on LFW (99.42 vs 99.47 %, 1:N FNIR at FPIR 1e-3 10.2 vs 10.3 %) for twice the embed cost (docs/accuracy.md). The impostor calibration is per setting: a target FPIR needs the setting it was measured with.'),
        executionProviders: z
          .array(z.enum(['tensorrt', 'cuda', 'webgpu', 'cpu']))
          .min(1)
          .default(['cuda', 'cpu'])
          .describe('ONNX Runtime execution providers in order of preference; unavailable ones are skipped with a log line; CPU is always tried last. "webgpu" (Dawn over Vulkan, bundled in onnxruntime-node for linux-x64) needs libvulkan.so.1 and the GPU\'s Vulkan driver; with only a software Vulkan driver (lavapipe) it runs on the CPU.'),
        intraOpThreads: z.number().int().min(1).max(64).default(1).describe('Threads per ONNX session. One thread per session lets several cameras run side by side.'),
        workers: z
          .number()
          .int()
          .min(0)
          .max(64)
          .default(0)
          .describe('Inference worker threads, each with its own ONNX sessions (every model run happens in one, never on the event loop). 0: one per intraOpThreads cores, at most one per enabled camera.'),
        workerNice: z.number().int().min(0).max(19).default(5).describe('Nice value of the inference worker threads (Linux: per thread). Above 0, the event loop and the decoders get the CPU first when the box is short of it: analysis falls behind evenly, frames are dropped and counted, the daemon stays responsive.'),
        workerTimeoutMs: z.number().int().min(1000).max(120000).default(10000).describe('A worker whose request runs longer than this is taken as hung: it is replaced (with back-off) and its frames are dropped and counted.'),
      })
      .strict()
      .prefault({}),
    quality: z
      .object({
        live: z
          .object({
            minInterEyePx: z.number().min(4).max(200).default(16).describe('Smallest inter-eye distance in source pixels accepted for matching.'),
            minSharpness: z.number().min(0).max(1000).default(15).describe('Minimum variance of the Laplacian on the aligned 112x112 face.'),
            maxYawDeg: z.number().min(5).max(90).default(40).describe('Largest yaw estimated from landmarks.'),
            maxPitchDeg: z.number().min(5).max(90).default(35).describe('Largest pitch estimated from landmarks.'),
            minDetectorScore: z.number().min(0).max(1).default(0.7).describe('Minimum detector confidence for matching.'),
          })
          .strict()
          .prefault({}),
        enrolment: z
          .object({
            minInterEyePx: z.number().min(8).max(400).default(30).describe('Reference images must show eyes at least this far apart.'),
            minSharpness: z.number().min(0).max(1000).default(25).describe('Minimum variance of the Laplacian for a reference image.'),
            maxYawDeg: z.number().min(5).max(90).default(25).describe('Reference images must be near frontal.'),
            maxPitchDeg: z.number().min(5).max(90).default(25).describe('Reference images must be near frontal.'),
            minDetectorScore: z.number().min(0).max(1).default(0.8).describe('Minimum detector confidence for a reference image.'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    match: z
      .object({
        threshold: z
          .number()
          .min(0)
          .max(1)
          .default(0.55)
          .describe(
            'Cosine similarity at or above which a face is a possible match: a recorded, deliberate setting. ' +
              'Default 0.55 = the FPIR 1e-3 point of `lfr eval watchlist` on LFW (1,680 enrolled, 4,060 non-mated probes, default pipeline): ' +
              '4 false alerts in 4,060 searches, FNIR 10.5 % (0.49 gives FPIR 1e-2 and FNIR 5.0 %; 0.59 gives no false alert and FNIR 16.6 %). ' +
              'False alerts grow with watchlist size: start a deployment with --target-fpir (or set targetFpir) to derive the threshold for the actual watchlist instead. See docs/accuracy.md.',
          ),
        targetFpir: z
          .number()
          .min(1e-8)
          .max(0.1)
          .optional()
          .describe(
            'Optional false-alert rate the force accepts per passer-by searched (FPIR), e.g. 1e-4. When set, `lfr deployment start` without --threshold derives the threshold from it for the actual watchlist size, using the embedder\'s impostor-score calibration (models/manifest.json "calibration"), records both, and the daemon refuses to start if that calibration does not match the embedder. See docs/accuracy.md.',
          ),
        minObservations: z.number().int().min(1).max(20).default(2).describe('Observations of a track at or above the threshold before an alert.'),
        fusionKeep: z
          .number()
          .int()
          .min(1)
          .max(8)
          .default(3)
          .describe('Track fusion: a track is searched with the quality-weighted mean of its best this-many embeddings (held in memory only while the track lives, wiped when it ends); 1 searches each frame on its own. Measured in docs/accuracy.md.'),
        cooldownSeconds: z.number().int().min(0).max(3600).default(60).describe('After an alert for a subject on a camera, no new alert for that subject on that camera for this long.'),
        topK: z.number().int().min(1).max(20).default(3).describe('Candidates kept per search.'),
        trackMaxMissMs: z
          .number()
          .int()
          .min(100)
          .max(30000)
          .default(1000)
          .describe(
            'A track that analysed frames have missed for this long has ended (its numbers and looks are forgotten), and it ends BEFORE the next frame\'s faces are paired with tracks, so a face arriving after it left is a new person. ' +
              'Only analysed frames that did not see the face count: a box analysing one frame every few seconds keeps a walking person\'s track and the appearance gate (trackMinSimilarity) decides. ' +
              'Position alone cannot keep two passers-by apart in a queue (the next face appears where the last one was, often within 0.5 s): the appearance gate does. The camera must be analysed faster than one frame per this window, else health WARNs (issue 19).',
          ),
        trackMinIou: z.number().min(0).max(1).default(0.3).describe('Smallest box overlap (IoU) that continues a track; a walking face at 10 fps keeps well above this.'),
        trackMaxCentreShift: z.number().min(0).max(5).default(0.6).describe('Largest move of the face centre per 100 ms since the track was last seen, in face widths, that still continues a track when boxes do not overlap (fast walkers, dropped frames); it grows with the gap up to 6 face widths. A continuation that moved, changed size or was missed by frames is embedded again and checked against the track\'s looks.'),
        trackMinSimilarity: z
          .number()
          .min(-1)
          .max(1)
          .default(0.4)
          .describe(
            'Appearance gate: a newly embedded look whose cosine similarity with the mean of its track\'s looks is below this is another person\'s; it starts a new track and is searched alone (never fused with, or counted as, the track\'s person). ' +
              'Default 0.4, calibrated on the 6,000 LFW pairs (`lfr eval lfw --json`, "gate"): no non-mated pair of 3,000 reaches it (highest 0.391), 2.5 % of mated pairs (different photos, often years apart) fall below it and would only be searched as two tracks; consecutive looks of one person in video agree far better. See docs/accuracy.md.',
          ),
        trackVerifyMs: z
          .number()
          .int()
          .min(100)
          .max(60000)
          .default(1000)
          .describe('A live track\'s face is embedded again at least this often, and checked against the track\'s looks, so one person replaced by another in the same place without a visible jump is caught within this time (one extra embedding per track per interval).'),
        embedQualityGain: z.number().min(1).max(3).default(1.1).describe('A track\'s face is embedded again only when its quality score beats the best so far by this factor (embedding every frame would cost the CPU other cameras need).'),
        reembedIntervalMs: z.number().int().min(0).max(10000).default(200).describe('While a track has a candidate at or above the threshold that still needs minObservations, embed it again after this long even without a quality gain (200 ms = every 2nd frame at 10 fps).'),
      })
      .strict()
      .prefault({}),
    watchlist: z
      .object({
        storeFile: z.string().default('watchlist.db').describe('Encrypted watchlist store, relative to paths.runtimeDir (tmpfs) unless absolute.'),
        maxAgeHours: hours(24, 'Watchlist deleted at deployment end and in any case this long after the bundle\'s FIRST import on this van (ceiling 24 h): re-inserting the stick never renews it.'),
        maxBundleAgeHours: z
          .number()
          .positive()
          .max(72)
          .default(48)
          .describe(
            'A bundle built longer ago than this is refused at its first import (a bundle dated in the future always is). ' +
              'Default 48 h: a bundle built at the station at any time the day before can be imported at any time on the day of the deployment. ' +
              'Ceiling 72 h: older intelligence (a person since arrested, a warrant withdrawn) must be re-checked and the bundle rebuilt; the van\'s import record keeps bundle ids for 24 + 72 h, so a bundle can never be refused as too old one day and forgotten the next.',
          ),
        importTimeoutSeconds: z
          .number()
          .int()
          .min(60)
          .max(7200)
          .default(1800)
          .describe('An import (upload, verification, enrolment) that takes longer is stopped and the current watchlist kept. 1,800 s enrols the largest bundle (maxSubjects) at the slowest measured rate (48 subjects/s) with room to spare.'),
        trustedSigningKeys: z.array(z.string()).default([]).describe('Paths of the force\'s Ed25519 public signing keys trusted for bundles.'),
        vanKeyFile: z.string().default('/etc/lfr/keys/van.key').describe('Path of this van\'s X25519 private key (0600).'),
        maxBundleBytes: z.number().int().min(1e6).max(2e10).default(2e9).describe('Largest bundle file accepted.'),
        maxImageBytes: z.number().int().min(1e4).max(1e8).default(2e7).describe('Largest reference image accepted.'),
        maxSubjects: z.number().int().min(1).max(1e6).default(20000).describe('Largest number of subjects in a bundle.'),
        referenceFusion: z
          .enum(['mean', 'each'])
          .default('mean')
          .describe('A subject with several usable reference images: "mean" enrols ONE template, the normalised mean of their embeddings (fewer misses at the same false-alert rate on LFW, docs/accuracy.md); "each" enrols every image as its own template.'),
      })
      .strict()
      .prefault({}),
    ingest: z
      .object({
        stallTimeoutMs: z.number().int().min(500).max(60000).default(5000).describe('A camera with no frame for this long is marked stalled and restarted.'),
        connectTimeoutMs: z.number().int().min(1000).max(120000).default(10000).describe('A connecting camera that delivers no frame for this long is failed and retried. Covers the RTSP handshake, the jitter buffer and the wait for a key frame (IP cameras often send one every 2-4 s).'),
        backoffInitialMs: z.number().int().min(100).max(60000).default(1000).describe('First reconnect delay.'),
        backoffMaxMs: z.number().int().min(1000).max(600000).default(30000).describe('Largest reconnect delay (exponential back-off with jitter).'),
        queueDepth: z.number().int().min(1).max(16).default(2).describe('Frames waiting for analysis per camera; older frames are dropped and counted (live video is worth nothing late).'),
      })
      .strict()
      .prefault({}),
    cameras: z.array(cameraSchema).default([]).describe('Cameras of the van.'),
    alerts: z
      .object({
        storeFile: z.string().default('alerts.db').describe('Encrypted alert store and outbox, relative to paths.stateDir unless absolute.'),
        retentionHours: hours(24, 'Alerts and their images are deleted irretrievably this long after capture (ceiling 24 h).'),
        purgeIntervalSeconds: z.number().int().min(10).max(3600).default(60).describe('How often the retention purge runs.'),
        contextFrameWidth: z.number().int().min(160).max(1920).default(640).describe('Width of the downscaled context frame sent with an alert.'),
        keyDir: z.string().default('alert-keys').describe('Per-alert keys (crypto-shredding), relative to paths.runtimeDir (tmpfs) unless absolute: keys survive a daemon restart, not a power cut.'),
        maxInFlight: z.number().int().min(1).max(100).default(16).describe('Alerts published but not yet acknowledged by the broker at once when the outbox drains (order is kept: one connection, QoS 1).'),
      })
      .strict()
      .prefault({}),
    mqtt: z
      .object({
        url: z.string().default('mqtts://127.0.0.1:8883').describe('Broker URL.'),
        username: z.string().default('lfr-daemon').describe('Broker user of the daemon.'),
        passwordFile: z.string().optional().describe('Path to a 0600 file with the broker password.'),
        caFile: z.string().optional().describe('CA certificate that signed the broker\'s TLS certificate.'),
        topicPrefix: z.string().regex(/^[a-z0-9/_-]+$/).default('lfr').describe('Prefix of every topic.'),
      })
      .strict()
      .prefault({}),
    broker: z
      .object({
        confFile: z.string().default('/etc/mosquitto/lfr.conf').describe('The whole mosquitto configuration, written by `lfr broker setup` (mosquitto runs with `-c` on it; systemd/mosquitto.service.d/lfr.conf).'),
        dir: z.string().default('/etc/mosquitto/lfr').describe('Folder of the broker\'s accounts (officers.passwd, daemon.passwd), ACLs and certificate, written by `lfr broker setup` and `lfr officers`.'),
        user: z.string().default('mosquitto').describe('OS user mosquitto runs as: owner of the broker\'s files when set up as root (mosquitto 2.0 reads them after dropping root).'),
        daemonGroup: z.string().default('lfr').describe('OS group of the daemon: may read officers.passwd, because the tablet page checks sign-ins against the same accounts as the broker.'),
        mqttPort: z.number().int().min(1).max(65535).default(8883).describe('MQTT over TLS listener: the daemon\'s account only.'),
        mqttBind: z.string().default('127.0.0.1').describe('Address of the MQTT/TLS listener. Loopback: only the daemon, on the same box, connects there.'),
        wsPort: z.number().int().min(1).max(65535).default(8884).describe('MQTT over WebSocket over TLS listener: officers\' tablets only (client id forced to the account name).'),
        wsBind: z.string().default('127.0.0.1').describe('Address of the WebSocket listener: loopback (tablets reach it through the page server). mosquitto 2.0.11 binds it on every address whatever this says; the broker unit\'s IPAddressAllow=localhost is what closes it.'),
        hosts: z.array(z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/)).default([]).describe('Names and addresses tablets use for the van (e.g. "10.20.0.1", "van7.local"), added to localhost and 127.0.0.1 in the broker\'s and the tablet page\'s certificates.'),
        caDays: z
          .number()
          .int()
          .min(7)
          .max(90)
          .default(30)
          .describe('Life of the van CA in days: the van\'s field period between depot visits. The CA can vouch only for the van\'s own names (name constraints: localhost, 127.0.0.1, tablet.host, broker.hosts); `lfr broker setup` makes a new one (new key, leaves re-issued) once a quarter of its life is left, and every tablet must then be given the new ca.crt (docs/mqtt.md).'),
        pidFile: z.string().default('/run/mosquitto/mosquitto.pid').describe('mosquitto\'s pid file: `lfr officers add|remove` sends it SIGHUP so the broker reloads the accounts at once.'),
      })
      .strict()
      .prefault({}),
    fleet: z
      .object({
        hqUrl: z
          .string()
          .regex(/^mqtts:\/\/[A-Za-z0-9.:[\]-]{1,253}:\d{1,5}$/, 'mqtts://HOST:PORT')
          .optional()
          .describe('The force headquarters broker (mqtts://HOST:PORT). When set, `lfr broker setup` (or `lfr broker setup --hq URL`) adds a bridge that forwards ONLY this van\'s status, deployment records, signed results reports and signed audit heads (docs/fleet.md). Unset: nothing leaves the van (the daemon hands its records to its own broker only).'),
        caFile: z.string().default('/etc/lfr/tls/hq-ca.crt').describe('CA certificate of the HQ broker (the force\'s fleet CA, from the station).'),
        certFile: z.string().default('/etc/lfr/tls/hq-client.crt').describe('The van\'s client certificate for HQ (CN = van.id), issued by the station with `lfr hq certs van`.'),
        keyFile: z.string().default('/etc/lfr/tls/hq-client.key').describe('Private key of fleet.certFile (mosquitto reads it as broker.user).'),
        syncSeconds: z.number().int().min(1).max(3600).default(10).describe('How often the daemon compares its deployment records and reports with what it has handed to the broker for HQ, and publishes what changed.'),
        resendDays: z.number().int().min(1).max(365).default(3).describe('On every (re)connect to its own broker, and every time the bridge (re)connects to HQ, the daemon re-sends the records and latest reports of deployments started in this many days (HQ ignores duplicates), so a broker restart while HQ was unreachable loses nothing.'),
      })
      .strict()
      .prefault({}),
    tablet: z
      .object({
        enabled: z.boolean().default(true).describe('Serve the officer tablet page (web/tablet) over HTTPS on the van network.'),
        host: z.string().default('0.0.0.0').describe('Address the tablet page listens on (the van Wi-Fi interface, or 0.0.0.0).'),
        port: z.number().int().min(1).max(65535).default(8443).describe('HTTPS port of the tablet page.'),
        certFile: z.string().default('/etc/lfr/tls/tablet.crt').describe('TLS certificate of the page, issued by the van CA for the names tablets use (same names as the broker\'s).'),
        keyFile: z.string().default('/etc/lfr/tls/tablet.key').describe('Private key of certFile (readable by the daemon user only).'),
        brokerWsPort: z.number().int().min(1).max(65535).default(8884).describe('Port of the broker\'s MQTT-over-WebSocket TLS listener, dialled on loopback by the page server for signed-in tablets (src/tablet/mqtt-proxy.ts); tablets never reach it directly.'),
        sessionExpirySeconds: z.number().int().min(0).max(3600).default(300).describe('MQTT 5 session expiry of a tablet: alerts published during a link loss shorter than this are queued for it (in the broker\'s memory, expiring with their alerts); after a longer one the page re-reads the alerts over HTTPS.'),
        subnets: z
          .array(z.string().regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, 'a network in CIDR form, e.g. 10.20.0.0/24'))
          .default([])
          .describe('Networks tablets connect from (the van Wi-Fi), e.g. ["10.20.0.0/24"]. install.sh lets lfr.service talk to these, loopback and the cameras\' addresses only (IPAddressAllow=); empty: the three private ranges, and lfr health WARNs.'),
        idleLockMinutes: z.number().int().min(1).max(240).default(10).describe('The tablet page locks itself after this many minutes without a touch: alerts and faces are hidden and the session ends until the officer signs in again.'),
        photoCheck: z
          .object({
            enabled: z.boolean().default(false).describe('Offer "Check with a photo" on the alert card: the officer photographs the person with the tablet\'s rear camera, the van compares that one photo with the alerted subject only (1:1, never a watchlist search), answers, and forgets the photo. Off unless the force has authorised it for this van; each deployment record says whether it was on (docs/tablet.md).'),
            falseMatchRate: z
              .union([z.literal(0.001), z.literal(0.0001), z.literal(0.00001)])
              .default(0.0001)
              .describe('False-match rate of the 1:1 check, one of 0.001, 0.0001, 0.00001 (the rates the shipped calibration measured): its threshold is read from models/<embedder>.one-to-one.json (`lfr eval one-to-one` on LFW), separate from match.threshold. 1e-4 (threshold 0.42): about one photo of a stranger in 10,000 is called "same person likely"; 97.2 % of genuine LFW pairs are (docs/accuracy.md gives the TAR at each rate).'),
            maxPhotoBytes: z.number().int().min(100_000).max(10_000_000).default(4_000_000).describe('Largest photo accepted (a JPEG from the tablet camera is 0.2-1 MB); a larger upload is refused before it is read.'),
            maxPhotoPixels: z.number().int().min(1_000_000).max(40_000_000).default(16_000_000).describe('Largest photo in pixels the van decodes (16 MP: any tablet camera); more is refused.'),
            maxPerOfficerPerMinute: z.number().int().min(1).max(30).default(4).describe('Checks one officer may make per minute (every attempt counts, refused or not): a check is a second look at one person, not a way to run faces through the van.'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        file: z.string().default('audit.db').describe('Hash-chained audit log, relative to paths.stateDir unless absolute.'),
        witnessIntervalSeconds: z.number().int().min(10).max(900).default(120).describe('The van signs its audit head this often (when it moved) and after every alert decision, and hands it to the tablets in the status: only entries after the last head a tablet received can be rewritten unseen (docs/audit.md).'),
      })
      .strict()
      .prefault({}),
    health: z
      .object({
        metricsPort: z.number().int().min(0).max(65535).default(9464).describe('Prometheus metrics and health on 127.0.0.1; 0 disables.'),
        maxCpuTempC: z.number().min(40).max(110).default(85).describe('CPU temperature that fails the health check.'),
        minFreeDiskMb: z.number().int().min(10).default(500).describe('Free disk below this fails the health check.'),
        maxLoadPerCore: z.number().min(0.1).max(10).default(1.5).describe('1-minute load per core above this warns (twice this fails): analysis is falling behind and frames are dropped.'),
        minFreeMemMb: z.number().int().min(16).default(512).describe('Available memory below this fails the health check (below twice this warns).'),
        maxGpuTempC: z.number().min(40).max(110).default(87).describe('GPU temperature that fails the health check (NVIDIA boards slow down near 87-90 °C).'),
        minCameraFps: z.number().min(0).max(30).default(2).describe('A live camera analysed at fewer frames per second than this warns.'),
        analysisStallSeconds: z.number().int().min(5).max(600).default(30).describe('A live camera whose analysis has been on one frame this long counts as stuck: `lfr health` FAILs and the systemd watchdog ping is withheld (systemd restarts the daemon). Longer than vision.workerTimeoutMs, after which a hung inference worker is replaced.'),
        warnWatchlistExpiryMinutes: z.number().int().min(0).max(1440).default(60).describe('Warn when the watchlist expires within this many minutes.'),
        intervalSeconds: z.number().int().min(5).max(3600).default(30).describe('How often the daemon re-evaluates health, publishes the retained status and refreshes the metrics.'),
      })
      .strict()
      .prefault({}),
    deployment: z
      .object({
        file: z.string().default('deployments.db').describe('Deployment records and results reports (SQLite, no biometric data), relative to paths.stateDir unless absolute.'),
        maxHours: hours(24, 'Longest deployment accepted by `lfr deployment start` (ceiling 24 h: the watchlist never outlives it).'),
        requireOfficer: z.boolean().default(true).describe('Refuse `lfr deployment start` without --officer (the authorising officer).'),
        requireReady: z.boolean().default(true).describe('`lfr deployment start` refuses, unless given --allow-degraded (recorded in the deployment and its report), while a camera is not live or the broker is down. false: no such check (test and bench rigs without a broker only, never a van).'),
        required: z.boolean().default(true).describe('`lfr run` analyses faces only while a deployment runs (started with `lfr deployment start`, recorded before any frame is matched). false: analyse whenever a watchlist is loaded (bench and test rigs only, never a van).'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type CameraConfig = z.infer<typeof cameraSchema>;
export type QualityGates = Config['quality']['live'];
