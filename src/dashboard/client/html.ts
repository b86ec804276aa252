/** Preact with htm: tagged templates instead of JSX, so the client needs no JSX build step. */
import htm from 'htm';
import { h } from 'preact';

export const html = htm.bind(h);
