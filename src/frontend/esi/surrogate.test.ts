import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripEsiContent, surrogateCapability, wantsEsi } from './surrogate.ts';

describe('Surrogate-Control', () => {
  it('wantsEsi: content="ESI/1.0", alone or among other capabilities and directives', () => {
    assert.equal(wantsEsi('content="ESI/1.0"'), true);
    assert.equal(wantsEsi('max-age=60, content="ESI-Inline/1.0 ESI/1.0"'), true);
    assert.equal(wantsEsi('content=ESI/1.0'), true);
    assert.equal(wantsEsi('Content="esi/1.0"'), true);
    assert.equal(wantsEsi('no-store, content = "ESI/1.0" '), true);
  });

  it('wantsEsi: no ESI/1.0 token, no field, or targeted at another surrogate', () => {
    assert.equal(wantsEsi(null), false);
    assert.equal(wantsEsi(''), false);
    assert.equal(wantsEsi('max-age=60'), false);
    assert.equal(wantsEsi('content="ESI-Inline/1.0"'), false);
    assert.equal(wantsEsi('content="ESI/1.01"'), false);
    assert.equal(wantsEsi('max-age="content=ESI/1.0"'), false);
    assert.equal(wantsEsi('content="ESI/1.0";akamai'), false);
    assert.equal(wantsEsi('content="ESI/1.0";akamai', 'outpost'), false);
    assert.equal(wantsEsi('content="ESI/1.0";outpost', 'outpost'), true);
  });

  it('stripEsiContent: the token goes, the rest stays; nothing left is null', () => {
    assert.equal(stripEsiContent('content="ESI/1.0"'), null);
    assert.equal(stripEsiContent(null), null);
    assert.equal(stripEsiContent('max-age=60, content="ESI/1.0"'), 'max-age=60');
    assert.equal(
      stripEsiContent('content="ESI/1.0 ESI-Inline/1.0", no-store'),
      'content="ESI-Inline/1.0", no-store',
    );
    assert.equal(
      stripEsiContent('content="ESI/1.0";akamai, content="ESI/1.0";outpost', 'outpost'),
      'content="ESI/1.0";akamai',
    );
  });

  it('surrogateCapability', () => {
    assert.equal(surrogateCapability(), 'outpost="Surrogate/1.0 ESI/1.0"');
    assert.equal(surrogateCapability('pop1'), 'pop1="Surrogate/1.0 ESI/1.0"');
  });
});
