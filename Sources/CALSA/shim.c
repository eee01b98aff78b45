#include "CALSA.h"

int roomd_snd_pcm_hw_params_malloc(snd_pcm_hw_params_t **params) {
    return snd_pcm_hw_params_malloc(params);
}

int roomd_snd_pcm_sw_params_malloc(snd_pcm_sw_params_t **params) {
    return snd_pcm_sw_params_malloc(params);
}
