// react and react-dom ship no types, and @types/react is not a dependency of this repository:
// the few declarations this example uses. In a project of your own, install @types/react and
// @types/react-dom and delete this file.
declare module 'react' {
  export type ReactNode = ReactElement | string | number | boolean | null | undefined | ReactNode[];
  export interface ReactElement {
    type: unknown;
    props: unknown;
    key: string | null;
  }
  export type FC<P> = (props: P) => ReactNode;
  export function createElement<P>(
    type: string | FC<P> | typeof Suspense,
    props?: P | null,
    ...children: ReactNode[]
  ): ReactElement;
  export const Suspense: unique symbol;
  /** Suspends the component until the promise settles (React 19). */
  export function use<T>(promise: Promise<T>): T;
}

declare module 'react-dom/server' {
  import type { ReactNode } from 'react';
  export interface RenderToReadableStreamOptions {
    signal?: AbortSignal;
    onError?: (error: unknown) => string | undefined | void;
    bootstrapScriptContent?: string;
  }
  export interface ReactDOMServerReadableStream extends ReadableStream<Uint8Array> {
    /** Settles once every Suspense boundary has rendered. */
    allReady: Promise<void>;
  }
  export function renderToReadableStream(
    children: ReactNode,
    options?: RenderToReadableStreamOptions,
  ): Promise<ReactDOMServerReadableStream>;
}
