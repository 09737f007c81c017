// Renders docs/config.md from the one schema (zod 4's JSON Schema export), so the reference of
// every field (default, bounds, description) can never disagree with the code. `lfr config docs`
// prints it; a test fails when the committed docs/config.md is out of date.
import { z } from 'zod';
import { configSchema } from './schema.js';

interface JsonNode {
  type?: string | string[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
  enum?: unknown[];
  properties?: Record<string, JsonNode>;
  items?: JsonNode;
}

function bounds(n: JsonNode): string {
  const parts: string[] = [];
  if (n.enum) parts.push(n.enum.map((v) => JSON.stringify(v)).join(' | '));
  if (n.items?.enum) parts.push(`list of ${n.items.enum.map((v) => JSON.stringify(v)).join(' | ')}`);
  if (n.exclusiveMinimum !== undefined) parts.push(`> ${n.exclusiveMinimum}`);
  if (n.minimum !== undefined) parts.push(`≥ ${n.minimum}`);
  if (n.maximum !== undefined) parts.push(`≤ ${n.maximum}`);
  if (n.pattern) parts.push(`pattern \`${n.pattern}\``);
  return parts.join(', ');
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function rows(node: JsonNode, prefix: string, out: string[]): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const p = prefix ? `${prefix}.${key}` : key;
    if (child.type === 'object' && child.properties) {
      rows(child, p, out);
      continue;
    }
    const type = Array.isArray(child.type) ? child.type.join('|') : (child.type ?? '');
    const def = child.default === undefined ? '(none)' : `\`${JSON.stringify(child.default)}\``;
    out.push(`| \`${p}\` | ${type}${child.items?.type && !child.items.enum ? ` of ${child.items.type}` : ''} | ${def} | ${cell(bounds(child))} | ${cell(child.description ?? '')} |`);
    if (child.type === 'array' && child.items?.properties) rows(child.items, `${p}[]`, out);
  }
}

export function renderConfigDocs(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input' }) as JsonNode;
  const out = [
    '# Configuration reference',
    '',
    'Generated from `src/config/schema.ts` by `lfr config docs > docs/config.md`; do not edit by hand',
    '(a test fails when this file and the schema disagree). The daemon reads one JSON file',
    '(`--config`, `$LFR_CONFIG`, or `/etc/lfr/lfr.json`); `lfr config validate FILE` checks one and',
    'prints the path, value and reason of every problem. Unknown fields are refused. Secrets are',
    'never values here, only paths of 0600 files. Example: `config/lfr.example.json`.',
    '',
    '| field | type | default | bounds | description |',
    '|---|---|---|---|---|',
  ];
  rows(schema, '', out);
  return `${out.join('\n')}\n`;
}
