"""The course's shared code, one module per concern (the lessons import it through ``resnet_utils``).

- ``constants``: image shape, class count, batch size, the data folder
- ``synthetic``: the NumPy-only renderer of the synthetic SIGNS hands
- ``data``: ``load_dataset`` and its three sources, one-hot labels, input scaling
- ``signs_format``: the original course's HDF5 files: the validated reader, the writer
- ``digits``: the Sign Language Digits photos: download, checks, conversion, split
- ``blocks``: the bottleneck, basic and pre-activation residual blocks
- ``models``: ResNet-50, ResNet-18/34, lesson 01's CIFAR-style nets
- ``training``: the input pipeline, notebook 03's recipe, lesson 01's experiment
- ``evaluation``: accuracy, confusion, gradient norms, FLOPs, Grad-CAM, image files
- ``plots``: every figure and model diagram
- ``grading``: the checks of the graded exercises and their hints
- ``environment``: versions, devices, Graphviz
- ``cluster``: worker processes with their own ``TF_CONFIG`` on this machine (lesson 05)
- ``quiet``: importing TensorFlow without its start-up noise

Importing the package imports nothing else; ``resnet_utils`` quiets TensorFlow
first, then imports the modules.
"""
