import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';

const protoDir = fileURLToPath(new URL('../../../../proto/', import.meta.url));

/** protobufjs reflection over proto/, the source of truth the hand-written codec is checked against. */
export function loadProtoRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.resolve(protoDir, target);
  root.loadSync(['remote.proto', 'io/prometheus/write/v2/types.proto'], { keepCase: false });
  return root;
}
