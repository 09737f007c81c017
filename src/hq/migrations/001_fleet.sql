-- HQ's fleet store, version 1 (src/hq/db.ts applies the files of this folder in order, each once,
-- in a transaction, recording it in schema_migrations). Nothing here can hold a face, an alert,
-- a subject reference, a note or an officer's decision on an alert: the vans never send them.

-- The vans a force has registered (`lfr hq vans add`): the audit anchor public key checks every
-- report, record and audit head the van signs. A removed van keeps its history; its new messages
-- are refused.
CREATE TABLE vans (
  van_id      text PRIMARY KEY,
  public_key  text NOT NULL,
  key_id      text NOT NULL,
  added_at    timestamptz NOT NULL DEFAULT now(),
  removed_at  timestamptz
);

-- The newest status of each van (retained status topic) and its bridge link state.
CREATE TABLE van_status (
  van_id          text PRIMARY KEY REFERENCES vans(van_id) ON DELETE CASCADE,
  status          jsonb,
  van_time        timestamptz,
  received_at     timestamptz,
  clock_offset_ms bigint,
  link            text,
  link_at         timestamptz
);

-- Deployment records: the newest known state of each (start, then end).
CREATE TABLE deployments (
  van_id        text NOT NULL REFERENCES vans(van_id) ON DELETE CASCADE,
  deployment_id text NOT NULL,
  record        jsonb NOT NULL,
  started_at    timestamptz NOT NULL,
  ended_at      timestamptz,
  van_time      timestamptz NOT NULL,
  received_at   timestamptz NOT NULL,
  clock_flag    text,
  PRIMARY KEY (van_id, deployment_id)
);

-- Every version of every signed results report: a late decision's version 2 replaces version 1
-- on the page, and version 1 stays here, visibly superseded.
CREATE TABLE reports (
  van_id        text NOT NULL REFERENCES vans(van_id) ON DELETE CASCADE,
  deployment_id text NOT NULL,
  version       integer NOT NULL CHECK (version >= 1),
  report        jsonb NOT NULL,
  body_sha256   text NOT NULL,
  signature     text NOT NULL,
  publish_by    date NOT NULL,
  van_time      timestamptz NOT NULL,
  received_at   timestamptz NOT NULL,
  clock_flag    text,
  PRIMARY KEY (van_id, deployment_id, version)
);
CREATE INDEX reports_publish_by ON reports (publish_by);

-- Signed audit heads (src/audit/anchor.ts), checked against the same key: the van's audit trail up
-- to `seq` is pinned here, outside the van.
CREATE TABLE audit_heads (
  van_id         text NOT NULL REFERENCES vans(van_id) ON DELETE CASCADE,
  seq            bigint NOT NULL,
  hash           text NOT NULL,
  signature      text NOT NULL,
  deployment_id  text NOT NULL,
  report_version integer NOT NULL,
  received_at    timestamptz NOT NULL,
  PRIMARY KEY (van_id, seq)
);

-- Refused messages: who (the topic's van, when it names one), what topic, why. Never the payload.
CREATE TABLE rejections (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  van_id      text,
  topic       text NOT NULL,
  reason      text NOT NULL
);
CREATE INDEX rejections_at ON rejections (at);

-- Messages HQ already had (re-sent after a reconnect): counted, not stored twice.
CREATE TABLE duplicates (
  van_id text PRIMARY KEY,
  count  bigint NOT NULL DEFAULT 0
);
