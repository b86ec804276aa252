// Collaborative editing is the seed's DocumentRoom, shared with examples/document-room (the
// reference app is built with the examples folder as its build root, so it may import it).
export { DocumentRoom } from '../../document-room/src/room';
