from keras_vit.models.alternet import AlterNet, build_alternet
from keras_vit.models.classifier import ImageClassifier, check_pixels
from keras_vit.models.configs import CONFIGS, SwinConfig, ViTConfig, get_config, list_configs
from keras_vit.models.resnet import ResNet, build_resnet
from keras_vit.models.saving import load_model
from keras_vit.models.vit import VisionTransformer, build_deit, build_vit
from keras_vit.models.swin import SwinTransformer, build_swin
