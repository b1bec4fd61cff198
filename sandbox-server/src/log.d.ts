/** Structured logging (pino): JSON lines an operator can grep and ship; quiet under tests unless asked. */
import pino from 'pino';
export declare const log: pino.Logger<never, boolean>;
export type Logger = typeof log;
