// What lfr.service may talk to (IPAddressAllow=, rendered by scripts/install.sh): loopback (the
// broker, metrics), link-local, the tablet networks (tablet.subnets) and each camera's address.
// Before, the unit admitted all three RFC 1918 ranges, so the daemon could reach any private host.
// A camera given by name cannot be firewalled by address: it is reported, and the private ranges
// stay open for it (so is an empty tablet.subnets) rather than cut the van off its camera.
import type { Config } from './schema.js';

export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

export interface AllowList {
  allow: string[];
  /** Why the list is wider than it should be (install.sh prints these; empty when narrow). */
  warnings: string[];
}

const isIp = (h: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || /^[0-9a-fA-F:]+$/.test(h);

export function unitAllowList(cfg: Pick<Config, 'tablet' | 'cameras'>): AllowList {
  const allow = new Set<string>(['localhost', 'link-local']);
  const warnings: string[] = [];
  let wide = false;
  if (cfg.tablet.subnets.length === 0) {
    warnings.push('tablet.subnets is empty: lfr.service admits every private range; set it to the van Wi-Fi network (e.g. ["10.20.0.0/24"])');
    wide = true;
  }
  for (const n of cfg.tablet.subnets) allow.add(n);
  for (const c of cfg.cameras) {
    if (!/^rtsps?:/.test(c.url)) continue;
    const host = new URL(c.url).hostname.replace(/^\[|\]$/g, '');
    if (isIp(host)) allow.add(host.includes(':') ? `${host}/128` : `${host}/32`);
    else {
      warnings.push(`camera ${c.name} is given by name (${host}): it cannot be firewalled by address; give its IP address`);
      wide = true;
    }
  }
  if (wide) for (const r of PRIVATE_RANGES) allow.add(r);
  return { allow: [...allow], warnings };
}
