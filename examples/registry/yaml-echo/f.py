# A handler with a package: requirements.txt pins it; the worker installs it through its install cache and
# imports it in a zygote the container forks from.
import yaml


def f(event):
    return {"yaml": yaml.safe_dump(event)}
