// The answer when an operation needs the caller's ACS identity and there is none (getUser, and
// getToken when token requests do not create identities).
import { HttpProblem } from '../http/httpProblem.js';

export const identityNotFound = () =>
  new HttpProblem(404, 'identity_not_found', 'This user has no ACS identity yet; create it with POST /api/user.');
