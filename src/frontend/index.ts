export * from './hints/index.ts';
