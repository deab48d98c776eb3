// Runs dynalite (a DynamoDB-compatible server) in its own process on loopback, so that its
// timers stay real while the simulator's clock is virtual. Reports its port over IPC.
const dynalite = require('dynalite');
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => {
  process.send({ port: server.address().port });
});
process.on('disconnect', () => process.exit(0));
