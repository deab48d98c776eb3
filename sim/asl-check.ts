/**
 * ASL validation, once per definition. aws-local-stepfunctions validates every definition
 * it is given with asl-validator, which builds and compiles a new JSON-schema validator
 * (ajv) at each call: about 0.2 s for each of a pipeline's two machines, at every start and
 * for every pipeline of a run. The simulator validates itself instead, with the options the
 * interpreter would use, and remembers what it validated:
 * - by shape: pipelines differ in their names, which the ASL builders carry as data only,
 *   so a pipeline's definition is keyed by the one built for the same pipeline under a fixed
 *   name; ten pipelines of one shape are validated once;
 * - in this process, and across processes in `HANDSOFF_CACHE_DIR` when set (the CLI sets it
 *   to its build folder, emptied by each build): one empty file per valid shape, named by
 *   the SHA-256 of the validator's version, its options and the shape's text.
 * A definition that fails is never remembered: it throws at every start.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** As the interpreter validates when asked to (its own defaults, ARNs unchecked: they are local). */
export const ASL_VALIDATION_OPTIONS = { checkArn: false, checkPaths: true } as const;

type AslValidator = (definition: unknown, options: typeof ASL_VALIDATION_OPTIONS) => { isValid: boolean; errorsText: (separator?: string) => string };
const require = createRequire(import.meta.url);
const VALIDATOR_VERSION = (require('asl-validator/package.json') as { version: string }).version;

const validatedHere = new Set<string>();
/** Validations run in this process (what the cache saves is counted, not timed). */
export const aslValidations = { count: 0 };

const keyOf = (shapeText: string): string =>
  createHash('sha256').update(`asl-validator ${VALIDATOR_VERSION} ${JSON.stringify(ASL_VALIDATION_OPTIONS)}\n`).update(shapeText).digest('hex');

const cacheFile = (key: string): string | undefined => {
  const dir = process.env.HANDSOFF_CACHE_DIR;
  return dir ? join(dir, `asl-${key}`) : undefined;
};

/**
 * Throws when `definition` is not valid ASL; does nothing for a shape already validated.
 * @param shape the definition of the same pipeline under a fixed name (its cache key)
 */
export const checkDefinition = (definition: unknown, shape: unknown, what: string): void => {
  const key = keyOf(JSON.stringify(shape));
  if (validatedHere.has(key)) return;
  const file = cacheFile(key);
  if (file && existsSync(file)) {
    validatedHere.add(key);
    return;
  }
  aslValidations.count++;
  // asl-validator writes defaults into what it validates: give it a copy.
  const { isValid, errorsText } = (require('asl-validator') as AslValidator)(structuredClone(definition), ASL_VALIDATION_OPTIONS);
  if (!isValid) throw new Error(`State machine definition ${what} is invalid, see error(s) below:\n ${errorsText('\n')}`);
  validatedHere.add(key);
  if (file) {
    try {
      mkdirSync(process.env.HANDSOFF_CACHE_DIR!, { recursive: true });
      writeFileSync(file, '');
    } catch {
      // a cache that cannot be written only costs the next start a validation
    }
  }
};
