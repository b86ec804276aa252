export * from './esi/index.ts';
export * from './hints/index.ts';
