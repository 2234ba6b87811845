export {
  type ClusterDescription,
  NatsCluster,
  type NatsNode,
  type StartClusterOptions,
} from './cluster.js';
