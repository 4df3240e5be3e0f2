export { isModelAllowed, matchesModelPattern } from './model-access';
