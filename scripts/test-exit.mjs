// Loaded into every test process (scripts/test.mjs). Once the test runner has reported and the
// event loop is empty, the process leaves through process.exit() instead of Node's full
// environment teardown: isolated-vm 5.0.4 can abort there ("IsolateEnvironment::GetCurrent():
// Assertion `environment != nullptr' failed") when handles it owns are destroyed after its own
// cleanup ran — after every test passed, which made CI fail at random (docs/runtime.md).
process.once('beforeExit', () => setImmediate(() => process.exit()));
