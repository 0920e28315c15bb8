import { IDP_PUSH_KIND } from '../canonical/identity-claims.ts';

/** The canonical person fields a system may be sent (data minimisation, config `governance.minimisation`). */
export const PERSON_FIELDS = ['given_name', 'family_name', 'email', 'phone', 'address'] as const;
export type PersonField = (typeof PERSON_FIELDS)[number];

type Job = { target: string; kind: string; payload: unknown };

/**
 * The job as it may leave Hearth for a system allowed only `allowed` (undefined: no allow-list):
 * person fields outside it are blanked (null) in the payload, and a write that carries nothing
 * but such fields is dropped (null). Pure; an identity provider's claims push loses its e-mail when
 * `email` is not allowed; other job kinds (opt-in) pass as they are.
 */
export function minimiseJob<J extends Job>(job: J, allowed: readonly string[] | undefined): J | null {
  if (!allowed) return job;
  const ok = new Set(allowed);
  const p = (job.payload ?? {}) as Record<string, unknown>;
  switch (job.kind) {
    case 'crm.address_write':
      return ok.has('address') ? { ...job, payload: blank(p, ok, ['email']) } : null;
    case 'crm.fields_write': {
      const fields = Object.fromEntries(Object.entries((p.fields ?? {}) as object).filter(([k]) => ok.has(k)));
      return Object.keys(fields).length > 0 ? { ...job, payload: { ...p, fields } } : null;
    }
    case 'profile.project':
      return { ...job, payload: blank(p, ok, PERSON_FIELDS) };
    case 'webhook.deliver': {
      const event = (p.event ?? {}) as { data?: Record<string, unknown> };
      if (!event.data) return job;
      const data: Record<string, unknown> = { ...event.data };
      if (data.customer) data.customer = blank(data.customer as Record<string, unknown>, ok, PERSON_FIELDS);
      if (!ok.has('address') && 'previous_address' in data) data.previous_address = null;
      return { ...job, payload: { ...p, event: { ...event, data } } };
    }
    case IDP_PUSH_KIND:
      // An identity provider gets household claims; the e-mail only finds the login. Without
      // `email` allowed, the push reaches only the user the crosswalk knows.
      return ok.has('email') ? job : { ...job, payload: { ...p, email: null } };
    default:
      return job;
  }
}

function blank(o: Record<string, unknown>, ok: Set<string>, fields: readonly string[]): Record<string, unknown> {
  const out = { ...o };
  for (const f of fields) if (!ok.has(f) && f in out) out[f] = null;
  return out;
}

/** Applies each target's allow-list (by connector: `webhook:loyalty` is the `webhook` connector's). */
export function minimiseJobs<J extends Job>(jobs: J[], allowLists: Readonly<Record<string, readonly string[]>>): J[] {
  if (Object.keys(allowLists).length === 0) return jobs;
  const out: J[] = [];
  for (const j of jobs) {
    const colon = j.target.indexOf(':');
    const connector = colon === -1 ? j.target : j.target.slice(0, colon);
    const kept = minimiseJob(j, allowLists[connector]);
    if (kept) out.push(kept);
  }
  return out;
}
