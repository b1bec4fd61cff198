/** Structured logging (pino): JSON lines an operator can grep and ship; quiet under tests unless asked. */
import pino from 'pino';

export const log = pino({
  level: process.env.OPSLAB_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'warn' : 'info'),
  base: undefined,
});
export type Logger = typeof log;
