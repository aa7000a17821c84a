"""The paper's 2-D toy experiments: MLP generator and critic, configs, metrics, pipeline."""
