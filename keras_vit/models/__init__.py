from keras_vit.models.configs import CONFIGS, ViTConfig, get_config, list_configs
from keras_vit.models.vit import build_vit
