"""Static checks of what deploys the suite (Dockerfiles, docker-compose.yml, helm/, deploy/k8s/, OSC descriptors)
that run without a Docker engine, a cluster or a helm binary. ``python -m tools.deploycheck`` runs them all;
tests/deploy/ runs them one by one."""
