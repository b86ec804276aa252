/**
 * Web Streams (ReadableStream, WritableStream, TransformStream, their readers, writers,
 * controllers and queuing strategies), from web-streams-polyfill. An extension rather than part
 * of the prelude: its source is most of what the prelude would be, and each isolate holds its
 * own copy of the prelude's source, whether its worker streams or not (../streams.ts).
 */
export * from 'web-streams-polyfill';
