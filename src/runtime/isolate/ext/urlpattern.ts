/** URLPattern (https://urlpattern.spec.whatwg.org/), from urlpattern-polyfill. */
export { URLPattern } from 'urlpattern-polyfill/urlpattern';
