import { createHmac, timingSafeEqual } from 'node:crypto';

export function hmacSha256(secret: string, data: string | Buffer, encoding: 'base64' | 'hex'): string {
  return createHmac('sha256', secret).update(data).digest(encoding);
}

/** Constant-time comparison of two signatures; different lengths are simply unequal. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
