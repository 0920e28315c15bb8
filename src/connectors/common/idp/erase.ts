import type { DeliveryResult } from '../../../canonical/types.ts';
import { eraseEach, type Eraser } from '../../erasure.ts';
import type { IdpUserApi } from './push.ts';

/** An IdP's erasure: the crosswalk's user ids, else every login with the customer's e-mail, deleted. */
export function idpEraser(api: IdpUserApi): Eraser {
  const outcome = (r: { ok: true } | Extract<DeliveryResult, { ok: false }>) => r;
  return eraseEach(
    async (id) => {
      const r = await api.deleteUser(id);
      return r.ok ? { ok: true } : outcome(r);
    },
    async (email) => {
      const r = await api.findByEmail(email);
      return r.ok ? { ok: true, ids: r.value } : r;
    },
  );
}
