from keras_vit.models.configs import CONFIGS, ViTConfig, get_config, list_configs
from keras_vit.models.deit import build_deit, distillation_heads
from keras_vit.models.distillation import DistillationModel, distillation_loss
from keras_vit.models.resnet import build_resnet
from keras_vit.models.vit import build_vit
