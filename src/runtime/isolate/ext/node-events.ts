/** node:events (nodejs_compat): the `events` package. */
import events from 'events';

export default events;
export const EventEmitter = events.EventEmitter;
export const once = events.once;
export const defaultMaxListeners = events.defaultMaxListeners;
