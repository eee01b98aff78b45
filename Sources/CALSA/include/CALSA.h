// alsa-lib as Swift sees it.
#ifndef ROOMD_CALSA_H
#define ROOMD_CALSA_H

#include <alsa/asoundlib.h>

/// snd_pcm_hw_params_alloca and friends are macros; these allocate on the heap
/// and must be freed with the matching snd_*_free.
int roomd_snd_pcm_hw_params_malloc(snd_pcm_hw_params_t **params);
int roomd_snd_pcm_sw_params_malloc(snd_pcm_sw_params_t **params);

#endif
