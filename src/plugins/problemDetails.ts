// One error handler and one not-found handler for the whole service: every failure leaves as
// application/problem+json (RFC 9457), as src/http maps and sends it. Refusals (4xx) are
// handed to whoever asked for them (onRefusal: the refusals plugin counts and audits them).
import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthConfig } from '../auth/authSettings.js';
import { HttpProblem } from '../http/httpProblem.js';
import { sendProblem } from '../http/sendProblem.js';
import { toProblem } from '../http/toProblem.js';

type RefusalListener = (request: FastifyRequest, problem: HttpProblem) => void;

declare module 'fastify' {
  interface FastifyInstance {
    /** Work for every refusal (4xx) the error handler answers, before it is sent. */
    onRefusal(listener: RefusalListener): void;
    /**
     * Answers `error` as the error handler would (its problem, the refusal listeners, the log):
     * for a hook that refuses without passing the error through Fastify's error path.
     */
    sendError(request: FastifyRequest, reply: FastifyReply, error: Error): void;
  }
}

export default fp(async function problemDetails(app, { auth }: { auth: AuthConfig }) {
  app.decorateReply('problem', null);
  const refusalListeners: RefusalListener[] = [];
  app.decorate('onRefusal', (listener: RefusalListener) => { refusalListeners.push(listener); });

  const sendError = (request: FastifyRequest, reply: FastifyReply, error: Error): void => {
    const problem = toProblem(error, auth);
    if (problem.status >= 400 && problem.status < 500) {
      // A listener's failure (a bug) is logged; the refusal is still answered, and the other
      // listeners still run.
      for (const listener of refusalListeners) {
        try {
          listener(request, problem);
        } catch (failure) {
          request.log.error({ err: failure, code: problem.code }, 'refusal listener failed');
        }
      }
    }
    // A refusal is reported on the request's one log line (requestLog); a failure also here, with its error.
    if (problem.status >= 500) request.log.error({ err: error, code: problem.code }, 'request failed');
    sendProblem(reply, problem);
  };
  app.decorate('sendError', sendError);
  // Returns nothing: the problem is sent already, and a returned reply (a thenable) would be
  // awaited by Fastify for nothing.
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => { sendError(request, reply, error); });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new HttpProblem(404, 'not_found', `No route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}.`)));

  // Every answer carries the request id that is also on every log line of the request.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
}, { name: 'problem-details' });
