export * from './esi/index.ts';
export * from './hints/index.ts';
export * from './variants/index.ts';
